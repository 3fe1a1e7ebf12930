"""Keeps the collector's Azure Monitor access token fresh in a file (the Azure profile).

The collector's bearertokenauth extension sends the token it reads from a file and re-reads the
file when it changes, but it cannot get a token itself, and the modules that can (azureauth,
azuremonitor) are not served to our build (collector/azure.yaml). This process gets the token
from Microsoft Entra ID with azure-identity's DefaultAzureCredential: workload identity on AKS
(AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE, set by the webhook), a managed
identity on a VM, a service principal's variables elsewhere. Never a key file in an image.

It writes the token atomically (a reader sees the old token or the new one, never half), and
gets the next one well before the current one expires; a failure is logged and retried with a
growing pause while the collector goes on sending the last token it read.
"""
