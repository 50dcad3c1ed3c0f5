"""Trubka: a self-hosted help desk with UIS telephony built in."""

__version__ = "0.1.0"
