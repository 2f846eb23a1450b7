"""Issue #20 item 7: the image metrics agree on their default: MNIST-shaped images use the
shipped classifier, feature matrices pass through, anything else asks for features=."""
import numpy as np
import pytest

from ganlib import metrics


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    a = np.tanh(rng.standard_normal((60, 1, 28, 28))).astype(np.float32)
    b = np.clip(a + 0.5 * rng.standard_normal(a.shape), -1, 1).astype(np.float32)
    return a, b


def test_frechet_and_kernel_distance_default_to_the_shipped_classifier_features(images):
    a, b = images
    clf = metrics.default_mnist_classifier()
    fd = metrics.frechet_distance(a, b)
    assert fd == metrics.frechet_distance(a, b, features=clf.features)
    assert fd > 1.0 and metrics.frechet_distance(a, a) < 1e-9
    assert metrics.frechet_distance(a[:, 0], b[:, 0]) == fd            # (N, 28, 28) too
    kd = metrics.kernel_distance(a, b, subsets=5, subset_size=40)
    assert kd == metrics.kernel_distance(a, b, features=clf.features, subsets=5, subset_size=40)
    # the classifier score's default is the same classifier
    assert metrics.classifier_score(a, splits=2) == metrics.classifier_score(a, classifier=clf, splits=2)


def test_feature_matrices_pass_through(images):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(300, 5)), rng.normal(size=(300, 5)) + 1.0
    assert abs(metrics.frechet_distance(x, y) - 5.0) < 1.5
    flat = images[0].reshape(60, -1)                      # (N, 784) is a feature matrix, used as is
    assert metrics.frechet_distance(flat, flat) == 0.0


@pytest.mark.parametrize("shape", [(10, 3, 32, 32), (10, 1, 32, 32), (10, 2, 28, 28), (10, 28, 27)])
def test_other_images_get_a_clear_error(shape):
    x = np.zeros(shape, np.float32)
    for fn in (metrics.frechet_distance, metrics.kernel_distance):
        with pytest.raises(ValueError, match=r"has shape .*MNIST-shaped images.*pass features=\.\.\."):
            fn(x, x)
    with pytest.raises(ValueError, match=r"pass classifier=\.\.\."):
        metrics.classifier_score(x)
    with pytest.raises(ValueError, match=r"pass classifier=\.\.\."):
        metrics.class_diversity(x)


def test_a_features_function_still_wins(images):
    a, b = images
    mean_pixel = lambda batch: batch.reshape(len(batch), -1).mean(axis=1, keepdims=True)  # noqa: E731
    d = metrics.frechet_distance(a, b, features=mean_pixel)
    ma, mb = mean_pixel(a).astype(np.float64), mean_pixel(b).astype(np.float64)
    want = (ma.mean() - mb.mean()) ** 2 + ma.var(ddof=1) + mb.var(ddof=1) - 2 * ma.std(ddof=1) * mb.std(ddof=1)
    assert abs(d - want) < 1e-9
