"""Log forwarding: the per-customer inventory format and the diagnostic settings that send its logs to the MSSP workspace."""
