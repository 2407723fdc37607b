"""The ``asd-explain`` command line: thin click commands over library functions."""
