"""After the runs: sweep tables (collect), grouped summaries (summarize), figures (plots)."""
