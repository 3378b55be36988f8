"""The AWS resources our deploy configs expect, created in moto the way Terraform would create them in AWS.

Clients come from the environment (AWS_ENDPOINT_URL_<SERVICE> points at the moto server), like the launchers'.
"""

import json
from typing import Any

import boto3

ACCOUNT = "123456789012"
REGION = "us-east-1"
ECS_CLUSTER = "vidassets"
ECS_TASK_DEFINITION = "vidassets-run"
ECS_GPU_CAPACITY_PROVIDER = "vidassets-gpu"
BATCH_CPU_QUEUE = "vidassets-cpu"
BATCH_GPU_QUEUE = "vidassets-gpu"
BATCH_JOB_DEFINITION = "vidassets-run"
WORKER_IMAGE = "vidassets-worker:test"
PG_PASSWORD_SECRET = [
    {"name": "DAGSTER_PG_PASSWORD", "valueFrom": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:vidassets-pg"}
]
GPU_INSTANCE_TYPES = ["g4dn.xlarge", "g5.xlarge", "g6.xlarge"]


def record_calls(client: Any, operation: str) -> list[dict[str, Any]]:
    """Every request `client` sends for `operation` (e.g. "batch.SubmitJob"), as botocore received the params."""
    calls: list[dict[str, Any]] = []

    def hook(params: dict[str, Any], **_: Any) -> None:
        calls.append(json.loads(json.dumps(params)))

    client.meta.events.register(f"provide-client-params.{operation}", hook)
    return calls


def _role_arn(name: str, service: str) -> str:
    trust = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    document = json.dumps({"Version": "2012-10-17", "Statement": [trust]})
    return boto3.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=document)["Role"]["Arn"]


def _instance_profile_arn(name: str) -> str:
    iam = boto3.client("iam")
    _role_arn(name, "ec2.amazonaws.com")
    profile = iam.create_instance_profile(InstanceProfileName=name)["InstanceProfile"]
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
    return profile["Arn"]


def _network() -> tuple[str, str]:
    ec2 = boto3.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="vidassets-runs", Description="run workers", VpcId=vpc)["GroupId"]
    return subnet, group


def batch_environment() -> dict[str, str]:
    """Managed GPU and CPU compute environments, their queues and the run job definition."""
    batch = boto3.client("batch")
    subnet, group = _network()
    profile = _instance_profile_arn("vidassets-batch-instance")
    service_role = _role_arn("vidassets-batch-service", "batch.amazonaws.com")  # moto wants one; AWS has an SLR
    queues = {}
    for name, instance_types in ((BATCH_GPU_QUEUE, GPU_INSTANCE_TYPES), (BATCH_CPU_QUEUE, ["c7i"])):
        env = batch.create_compute_environment(
            computeEnvironmentName=name,
            type="MANAGED",
            state="ENABLED",
            serviceRole=service_role,
            computeResources={
                "type": "SPOT",
                "allocationStrategy": "SPOT_PRICE_CAPACITY_OPTIMIZED",
                "minvCpus": 0,
                "maxvCpus": 64,
                "instanceTypes": instance_types,
                "subnets": [subnet],
                "securityGroupIds": [group],
                "instanceRole": profile,
            },
        )
        queue = batch.create_job_queue(
            jobQueueName=name,
            state="ENABLED",
            priority=1,
            computeEnvironmentOrder=[{"order": 1, "computeEnvironment": env["computeEnvironmentArn"]}],
        )
        queues[name] = queue["jobQueueArn"]
    batch.register_job_definition(
        jobDefinitionName=BATCH_JOB_DEFINITION,
        type="container",
        containerProperties={
            "image": WORKER_IMAGE,
            "command": ["dagster", "api", "execute_run"],  # replaced per run by the launcher
            "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "2048"}],
            "environment": [{"name": "VIDASSETS_DEVICE", "value": "auto"}],
            "secrets": PG_PASSWORD_SECRET,
        },
        retryStrategy={"attempts": 1},
    )
    return queues


def ecs_gpu_cluster() -> str:
    """A cluster with a GPU capacity provider, one registered g4dn host and the run task definition."""
    ecs = boto3.client("ecs")
    ec2 = boto3.client("ec2")
    ecs.create_cluster(clusterName=ECS_CLUSTER)
    ecs.create_capacity_provider(
        name=ECS_GPU_CAPACITY_PROVIDER,
        autoScalingGroupProvider={
            "autoScalingGroupArn": f"arn:aws:autoscaling:{REGION}:{ACCOUNT}:autoScalingGroup:0:autoScalingGroupName/g",
            "managedScaling": {"status": "ENABLED", "targetCapacity": 100},
            "managedTerminationProtection": "DISABLED",
        },
    )
    ecs.put_cluster_capacity_providers(
        cluster=ECS_CLUSTER,
        capacityProviders=[ECS_GPU_CAPACITY_PROVIDER],
        defaultCapacityProviderStrategy=[{"capacityProvider": ECS_GPU_CAPACITY_PROVIDER, "weight": 1}],
    )
    image_id = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, InstanceType="g4dn.xlarge")["Instances"][0]
    ecs.register_container_instance(
        cluster=ECS_CLUSTER,
        instanceIdentityDocument=json.dumps({"instanceId": instance["InstanceId"], "region": REGION}),
    )
    ecs.register_task_definition(
        family=ECS_TASK_DEFINITION,
        requiresCompatibilities=["EC2"],
        networkMode="bridge",  # awsvpc in production; moto 5.2 cannot start awsvpc tasks (ENI model bug)
        containerDefinitions=[
            {
                "name": "run",
                "image": WORKER_IMAGE,
                "essential": True,
                "memory": 2048,
                "environment": [{"name": "VIDASSETS_DEVICE", "value": "auto"}],
                "secrets": PG_PASSWORD_SECRET,
            }
        ],
    )
    return ECS_CLUSTER

