"""The driver: asks for charges and follows them (``core``), over HTTP (``api``), from a file
(``services``); ``seed`` is the original buggy behaviour, kept on purpose for the harness."""
