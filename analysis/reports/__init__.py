"""Reports built Qt-free from what the app stored: the model, its text renderings (JSON,
Markdown, HTML) and the capacity forecast. The PDF is drawn by the UI layer from the same model."""
