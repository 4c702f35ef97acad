"""AIOps Desktop: a desktop NOC console for fleets of OpenShift/Kubernetes clusters."""

__version__ = "0.1.0"
APP_NAME = "aiops-desktop"
