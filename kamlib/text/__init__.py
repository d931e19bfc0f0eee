"""Report text: translations (one data file per language under ``locales/``) and locale formats. The ground
floor: models, analyses and figures all label things in the report language."""
