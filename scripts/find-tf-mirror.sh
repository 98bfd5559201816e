#!/usr/bin/env bash
# Prints a local Terraform provider mirror (a folder holding registry.terraform.io/hashicorp/aws),
# for machines without registry access. Prints nothing when Terraform is already configured
# (TF_CLI_CONFIG_FILE names an existing file, or EDP_TF_PLUGIN_DIR is set) or no mirror exists;
# Terraform then installs providers the usual way.
set -u
[ -n "${EDP_TF_PLUGIN_DIR:-}" ] && { echo "$EDP_TF_PLUGIN_DIR"; exit 0; }
[ -n "${TF_CLI_CONFIG_FILE:-}" ] && [ -f "$TF_CLI_CONFIG_FILE" ] && exit 0
found=$(find / -maxdepth 6 \( -path /proc -o -path /sys -o -path /dev -o -path '*/node_modules' -o -path '*/.git' -o -path '*/.terraform' \) -prune \
  -o -type d -path '*/registry.terraform.io/hashicorp/aws' -print -quit 2>/dev/null)
[ -n "$found" ] && echo "${found%/registry.terraform.io/hashicorp/aws}"
exit 0
