"""The demo organisation's chat: one group of everyone ("Demo team") with a welcome from
Alice, made once, so a fresh `make run` opens on a conversation rather than an empty list."""

from django.db import transaction

from toc.accounts.demo import DEMO_SLUG
from toc.accounts.models import User
from toc.chat import envelope, services
from toc.chat.models import Conversation, ConversationKind

GROUP_NAME = "Demo team"
WELCOME = (
    "Welcome to TOC chat! Messages here reach everyone in the demo, live on every device. "
    "Try an emoji :wave:, drop a file onto this window, or record a voice message with the microphone button."
)


def seed_demo_chat() -> Conversation:
    """The demo team group (made on first run; later runs leave the chats as the users left them)."""
    users = list(User.objects.filter(organisation__slug=DEMO_SLUG, is_active=True).order_by("extension"))
    # Any group at all means the demo was seeded before (and people may have renamed or left it).
    existing = Conversation.objects.filter(organisation__slug=DEMO_SLUG, kind=ConversationKind.GROUP).first()
    if existing is not None:
        return existing
    founder, *others = users
    with transaction.atomic():
        group = services.create_group(user=founder, name=GROUP_NAME, member_ids=[user.pk for user in others])
        services.send_message(
            user=founder,
            conversation_id=group.pk,
            envelope={
                "format": envelope.PLAIN,
                "payload": {"text": WELCOME.replace(":wave:", "👋"), "attachments": []},
            },
        )
    return group
