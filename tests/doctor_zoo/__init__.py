# Makes this folder a package so that pytest imports its conftest.py as `doctor_zoo.conftest`
# instead of a second top-level `conftest` that would shadow tests/conftest.py.
