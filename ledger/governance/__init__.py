"""Governance and agency administration: operator accounts, agency keys and key files, API keys,
onboarding an agency on chain."""
