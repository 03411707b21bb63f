"""Builds the compiled multi-lane MD5 core; everything else is in pyproject.toml.

The extension is compiled from source at install (gcc and the Python headers; nothing is downloaded). One
build runs on any x86-64: the AVX-512 and AVX2 kernels carry their own target attributes and are chosen at
run time. Where it cannot be built, seqfixity falls back to hashlib and says so (``seqfixity --version``).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "seqfixity.engine._md5lanes",
            sources=["src/seqfixity/engine/_md5lanes.c"],
            extra_compile_args=["-O2", "-Wall"],
            optional=True,
        )
    ]
)
