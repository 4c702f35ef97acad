"""The app's own machinery: the event bus, the task supervisor, cache maintenance."""
