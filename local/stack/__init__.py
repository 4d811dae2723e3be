"""The local stack: official Firestore and Pub/Sub emulators plus our fakes, on 127.0.0.1 (see ``LocalStack``)."""

from stack.emulators import EmulatorsMissing
from stack.local_stack import DEFAULT_PROJECT, LocalStack
from stack.processes import StackError
from stack.topology import PulledMessage, TopicTap

__all__ = ["DEFAULT_PROJECT", "EmulatorsMissing", "LocalStack", "PulledMessage", "StackError", "TopicTap"]
