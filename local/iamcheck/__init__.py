"""IAM proven against the code: what terraform grants, what the code uses, and whether the two are equal.

Modules:
    terraform   the deployment's HCL, parsed (python-hcl2) and merged: locals and resources of every ``.tf`` file
    roles       the permissions of each predefined role terraform grants, and of its custom roles
    grants      every grant of ``terraform/iam.tf`` as (principal, permissions, resource); ``Policy`` answers "may this
                identity do this on that resource", for the local Secret Manager fake and the local identity issuer
    code        the first-party module graph: which files a principal's entry points reach
    resolve     what a resource argument (a topic, a secret name, a bucket) evaluates to, statically
    uses        every Google API use of a principal, derived from its reachable code, its settings, the VM's systemd
                units, startup script and Ops Agent configuration
    check       uses against grants: missing (used, not granted), unused (granted, not used), and unresolvable uses
"""
