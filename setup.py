import os

from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = bool(os.environ.get("DEEPSLATE_DEBUG"))

directives = {
    "language_level": "3",
    "boundscheck": DEBUG,
    "wraparound": False,
    "initializedcheck": DEBUG,
    "cdivision": True,
    "infer_types": True,
}
if DEBUG:
    directives["linetrace"] = True

setup(
    ext_modules=cythonize(
        [Extension(f"deepslate.{name}", [f"src/deepslate/{name}.pyx"],
                   define_macros=[("CYTHON_TRACE", "1")] if DEBUG else [],
                   extra_compile_args=["-O2"])
         for name in ("_vm", "_snapshot")],
        compiler_directives=directives,
        annotate=bool(os.environ.get("DEEPSLATE_ANNOTATE")),
    )
)
