"""The HTTP API (``/v1``): every capability of the service layer, for banks, ERPs and
platforms to build on."""
