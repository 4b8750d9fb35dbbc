"""deepslate: durable execution for Python."""
