"""The wire contract between the gateware and the host, below both: the host link protocol
(commands, status codes, frames, the design description) and the weight memory layout."""
