"""身后一件事 portal: one application for every formality after a death."""
