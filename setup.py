"""Build script beside setup.cfg (which holds the metadata and dependencies).

It only says which packages ship: ``asd_explain`` and ``data_prep``, and the top-level ``configs/`` folder
as the package data ``asd_explain/configs/*.yaml`` (found at run time by ``asd_explain.resources``), so the
repository keeps one copy of the configs where the docs and users look for them.
"""
from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["asd_explain", "asd_explain.*", "data_prep", "data_prep.*"])
    + ["asd_explain.configs"],
    package_dir={"asd_explain.configs": "configs"},
    package_data={"asd_explain": ["py.typed"], "asd_explain.configs": ["*.yaml"]},
)
