"""pip install --no-build-isolation ./python: builds the extension _mqa_harness with the
project's CMake (the repository is this folder's parent: the install needs the checkout) and
installs it inside the mqa_harness package. Only the library targets are built (no tests,
benchmarks or device code)."""
import os
import pathlib
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        pkg_dir = pathlib.Path(self.get_ext_fullpath(ext.name)).resolve().parent
        build = pathlib.Path(self.build_temp).resolve() / "cmake"
        subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                        "-DMQA_BUILD_TESTS=OFF", "-DMQA_BUILD_BENCH=OFF", "-DMQA_CUDA=OFF", "-DMQA_HIP=OFF",
                        "-DMQA_BUILD_PYTHON=ON", "-DMQA_PYTHON=" + sys.executable,
                        "-DMQA_PYTHON_PACKAGE_DIR=" + str(pkg_dir)], check=True)
        subprocess.run(["cmake", "--build", str(build), "--target", "_mqa_harness", "-j", str(os.cpu_count() or 1)],
                       check=True)


setup(
    name="mqa_harness",
    version="0.1.0",
    description="mqa-harness from Python: cases, reference, comparator, fuzz campaign, pytest plugin",
    packages=["mqa_harness"],
    ext_modules=[Extension("mqa_harness._mqa_harness", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    python_requires=">=3.9",
    install_requires=["numpy"],
)
