"""Kubeconfig files in kubectl's exact format, written into a test's temp folder."""

from __future__ import annotations

import base64
from pathlib import Path

CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUTESTCA\n-----END CERTIFICATE-----\n"
TOKEN = "sha256~Zk9TZXN0VG9rZW5OZXZlckxvZ2dlZDEyMzQ1Njc4OTA"


def write_kubeconfig(folder: Path) -> Path:
    (folder / "certs").mkdir(exist_ok=True)
    (folder / "certs" / "admin.crt").write_text(
        "-----BEGIN CERTIFICATE-----\nQURNSU4=\n-----END CERTIFICATE-----\n"
    )
    (folder / "certs" / "admin.key").write_text(
        "-----BEGIN EC PRIVATE KEY-----\nS0VZ\n-----END EC PRIVATE KEY-----\n"
    )
    ca = base64.b64encode(CA_PEM.encode()).decode()
    text = f"""
apiVersion: v1
kind: Config
current-context: admin
clusters:
- name: ocp-prod
  cluster:
    server: https://api.ocp-prod.example.com:6443
    certificate-authority-data: {ca}
- name: lab
  cluster:
    server: https://api.lab.example.com:6443
    insecure-skip-tls-verify: true
- name: plain-http
  cluster:
    server: http://10.0.0.1:8080
contexts:
- name: default/api-ocp-prod-example-com:6443/kube:admin
  context: {{cluster: ocp-prod, user: token-user, namespace: default}}
- name: admin
  context: {{cluster: ocp-prod, user: cert-user}}
- name: lab-oidc
  context: {{cluster: lab, user: exec-user}}
- name: broken-user
  context: {{cluster: ocp-prod, user: nobody}}
- name: insecure-http
  context: {{cluster: plain-http, user: token-user}}
users:
- name: token-user
  user:
    token: {TOKEN}
- name: cert-user
  user:
    client-certificate: certs/admin.crt
    client-key: certs/admin.key
- name: exec-user
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: oc
      args: [get-token]
      env: [{{name: OIDC_SECRET, value: exec-env-secret-value}}]
"""
    path = folder / "kubeconfig"
    path.write_text(text)
    return path
