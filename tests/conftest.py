"""Shared test helpers."""
import os
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MNIST_DIR = os.path.join(os.path.dirname(ROOT), "shared", "data", "mnist")


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
