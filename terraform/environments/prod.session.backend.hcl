# The prod session state. The bucket comes from `-backend-config=bucket=$EDP_TF_STATE_BUCKET`.
key          = "prod/session.tfstate"
region       = "eu-central-1"
encrypt      = true
use_lockfile = true
