"""Layer 3: orchestration. Services ask collectors, write the store, run analysis and publish
changes on the bus (``runtime``); grouped by what they hold: ``clusters`` (registry, health,
credentials, client pool), ``kube`` (the Kubernetes API), ``polling``, ``queries``,
``gpu_cnf``, ``intelligence`` and ``outputs`` (reports, captures, the wall). ``core`` wires
them into one Qt-free application."""
