"""Infrastructure backends: ``local`` (processes), ``docker`` (testcontainers), ``external`` (addresses)."""
