"""Talking to Azure: the ARM REST client (retries, throttling, Resource Graph, /batch) and the ARM facts it depends on."""
