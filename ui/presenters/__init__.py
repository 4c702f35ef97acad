"""Presenters: QObjects that call services, own the async work and emit ``sig_*`` signals."""
