"""Languages and money: Simplified Chinese and English from gettext catalogs (Babel), amounts per locale."""
