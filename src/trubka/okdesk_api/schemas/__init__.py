"""Request and response shapes of the ``/api/v1`` endpoints, one module per router."""
