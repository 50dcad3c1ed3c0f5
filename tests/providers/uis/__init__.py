"""UIS: its fake servers, its real-shaped bodies (``fixtures/``) and its tests."""
