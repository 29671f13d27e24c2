"""Reports on runs and on the current state, and their exports (CSV, XLSX, PDF)."""
