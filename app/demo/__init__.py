"""Demo data: realistic Chinese B2B customers and their activity, reproducible by seed."""

from app.demo.generate import DemoDataExists, DemoSummary, generate_demo, load_demo

__all__ = ["DemoDataExists", "DemoSummary", "generate_demo", "load_demo"]
