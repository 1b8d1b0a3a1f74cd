"""SmartPlex cleanup: rules that pick what to remove, free of Home Assistant."""
