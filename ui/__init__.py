"""Layer 4: Qt. Presenters own async work and emit signals; views only show and forward."""
