"""Imports of customers and activity from CSV/XLSX, as background jobs."""
