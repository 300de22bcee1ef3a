"""Talking to Azure: the ARM REST client (retries, throttling, Resource Graph, /batch), the ARM facts it depends on, and Log Analytics queries."""
