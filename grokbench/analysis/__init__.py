"""After the runs: sweep tables (collect), grouped summaries (summarize), figures (plots), neuron pruning (analyze)."""
