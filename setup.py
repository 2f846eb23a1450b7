"""Build ganlib._C: all of csrc/ (except its C tests) against OpenBLAS.

OpenBLAS comes from the scipy-openblas32 wheel, a pinned build requirement.
pip deletes the isolated build environment afterwards, so the shared library is
copied next to the extension and found at run time through an $ORIGIN rpath.

Environment switches:
  GANLIB_WERROR=1    compile with -Werror (CI)
  GANLIB_SANITIZE=1  compile with AddressSanitizer + UBSan (CI's sanitizer step)
  GANLIB_PORTABLE=1  no -march=native (for wheels meant for other machines)
"""
import glob
import os
import shutil

import numpy
import scipy_openblas32 as sob
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))


def c_sources():
    files = sorted(glob.glob(os.path.join("csrc", "**", "*.c"), recursive=True))
    return [f for f in files if os.sep + "tests" + os.sep not in f]


def compile_flags():
    flags = ["-O3", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter",
             "-Wno-missing-field-initializers", "-fno-strict-aliasing", "-pthread",
             "-fno-math-errno"]  # lets sqrtf/expf vectorise; ganlib never reads errno
    if os.environ.get("GANLIB_PORTABLE") != "1":
        flags.append("-march=native")
    if os.environ.get("GANLIB_WERROR") == "1":
        flags.append("-Werror")
    if os.environ.get("GANLIB_SANITIZE") == "1":
        flags += ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-fno-sanitize-recover=undefined"]
    return flags


CFLAGS = compile_flags()
LDFLAGS = ["-Wl,-rpath,$ORIGIN", "-pthread", "-lm"]
if os.environ.get("GANLIB_SANITIZE") == "1":
    LDFLAGS += ["-fsanitize=address,undefined"]


class BuildExtWithBlas(build_ext):
    """Copy the OpenBLAS shared library next to the built extension."""

    def run(self):
        super().run()
        lib = os.path.join(sob.get_lib_dir(), sob.get_library(fullname=True))
        for ext in self.extensions:
            dest_dir = os.path.dirname(self.get_ext_fullpath(ext.name))
            os.makedirs(dest_dir, exist_ok=True)
            shutil.copy2(lib, os.path.join(dest_dir, os.path.basename(lib)))


ext = Extension(
    "ganlib._C",
    sources=c_sources(),
    include_dirs=["csrc", sob.get_include_dir(), numpy.get_include()],
    library_dirs=[sob.get_lib_dir()],
    libraries=[sob.get_library()],
    define_macros=[("_POSIX_C_SOURCE", "200809L"),
                   ("NPY_NO_DEPRECATED_API", "NPY_1_25_API_VERSION"),
                   ("NPY_TARGET_VERSION", "NPY_1_25_API_VERSION"),
                   ("GL_BUILD_CFLAGS", '"' + " ".join(CFLAGS) + '"'),
                   ("GL_BLAS_WHEEL_VERSION", '"scipy-openblas32 ' + sob.__version__ + '"')],
    extra_compile_args=CFLAGS,
    extra_link_args=LDFLAGS,
)

setup(ext_modules=[ext], cmdclass={"build_ext": BuildExtWithBlas})
