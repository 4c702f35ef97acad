"""Dialogs: forms that collect user input and hand it to a presenter."""
