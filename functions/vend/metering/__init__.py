"""What a call costs at OpenAI, from the usage its events report: prices (per model) and arithmetic."""
