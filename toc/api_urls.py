"""The REST API under /api/ (documented at /api/docs/)."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from toc.accounts.api import DiscoveryApi, MeApi, PreferencesUpdateApi, TokenCreateApi
from toc.calls.api import (
    ActiveCallListApi,
    ConferenceRoomListApi,
    ConferenceRoomPinApi,
    HistoryDetailApi,
    HistoryListApi,
    HistorySeenApi,
    IceServerListApi,
    ParkedCallListApi,
    PhoneDndApi,
)
from toc.chat import api as chat
from toc.directory.api import ContactDetailApi, ContactListCreateApi, DirectoryListApi, FavouriteApi, SearchApi
from toc.presence.api import PresenceApi
from toc.sms import api as sms
from toc.voicemail.api import (
    CompanyGreetingApi,
    CompanyGreetingAudioApi,
    GreetingApi,
    MailboxPinResetApi,
    MessageAudioApi,
    MessageDetailApi,
    MessageListApi,
    MessageSaveApi,
    MyMailboxApi,
    MyPinApi,
)

urlpatterns = [
    path("discovery/", DiscoveryApi.as_view(), name="discovery"),
    path("me/", MeApi.as_view(), name="me"),
    path("me/preferences/", PreferencesUpdateApi.as_view(), name="preferences"),
    path("auth/token/", TokenCreateApi.as_view(), name="token"),
    path("presence/", PresenceApi.as_view(), name="presence"),
    path("directory/", DirectoryListApi.as_view(), name="directory"),
    path("contacts/", ContactListCreateApi.as_view(), name="contacts"),
    path("contacts/<int:contact_id>/", ContactDetailApi.as_view(), name="contact"),
    re_path(
        r"^favourites/(?P<kind>colleague|contact)/(?P<target_id>[0-9]+)/$", FavouriteApi.as_view(), name="favourite"
    ),
    path("search/", SearchApi.as_view(), name="search"),
    path("calls/active/", ActiveCallListApi.as_view(), name="calls-active"),
    path("calls/ice-servers/", IceServerListApi.as_view(), name="calls-ice-servers"),
    path("calls/history/", HistoryListApi.as_view(), name="calls-history"),
    path("calls/history/seen/", HistorySeenApi.as_view(), name="calls-history-seen"),
    path("calls/history/<int:record_id>/", HistoryDetailApi.as_view(), name="calls-history-record"),
    path("calls/parked/", ParkedCallListApi.as_view(), name="calls-parked"),
    path("calls/phone-dnd/", PhoneDndApi.as_view(), name="calls-phone-dnd"),
    path("conference/rooms/", ConferenceRoomListApi.as_view(), name="conference-rooms"),
    path("conference/rooms/<int:room_id>/pin/", ConferenceRoomPinApi.as_view(), name="conference-room-pin"),
    path("voicemail/pin/", MyPinApi.as_view(), name="voicemail-pin"),
    path("voicemail/mailbox/", MyMailboxApi.as_view(), name="voicemail-mailbox"),
    path("voicemail/company-greeting/", CompanyGreetingApi.as_view(), name="company-greeting"),
    path("voicemail/company-greeting/audio/", CompanyGreetingAudioApi.as_view(), name="company-greeting-audio"),
    path("voicemail/mailboxes/<int:user_id>/greetings/<str:kind>/", GreetingApi.as_view(), name="voicemail-greeting"),
    path("voicemail/mailboxes/<int:user_id>/pin/", MailboxPinResetApi.as_view(), name="voicemail-pin-reset"),
    path("voicemail/messages/", MessageListApi.as_view(), name="voicemail-messages"),
    path("voicemail/messages/<uuid:message_id>/", MessageDetailApi.as_view(), name="voicemail-message"),
    path("voicemail/messages/<uuid:message_id>/save/", MessageSaveApi.as_view(), name="voicemail-message-save"),
    path("voicemail/messages/<uuid:message_id>/audio/", MessageAudioApi.as_view(), name="voicemail-message-audio"),
    path("chat/conversations/", chat.ConversationListApi.as_view(), name="chat-conversations"),
    path("chat/conversations/<uuid:conversation_id>/", chat.ConversationDetailApi.as_view(), name="chat-conversation"),
    path("chat/conversations/<uuid:conversation_id>/members/", chat.MemberListApi.as_view(), name="chat-members"),
    path(
        "chat/conversations/<uuid:conversation_id>/members/<int:user_id>/",
        chat.MemberDetailApi.as_view(),
        name="chat-member",
    ),
    path("chat/conversations/<uuid:conversation_id>/mute/", chat.MuteApi.as_view(), name="chat-mute"),
    path("chat/conversations/<uuid:conversation_id>/read/", chat.ReadApi.as_view(), name="chat-read"),
    path("chat/conversations/<uuid:conversation_id>/typing/", chat.TypingApi.as_view(), name="chat-typing"),
    path("chat/conversations/<uuid:conversation_id>/messages/", chat.MessageListApi.as_view(), name="chat-messages"),
    path(
        "chat/conversations/<uuid:conversation_id>/attachments/",
        chat.AttachmentUploadApi.as_view(),
        name="chat-attachments",
    ),
    path("chat/messages/<uuid:message_id>/", chat.MessageDetailApi.as_view(), name="chat-message"),
    path("chat/messages/<uuid:message_id>/reactions/", chat.ReactionApi.as_view(), name="chat-reactions"),
    path("chat/attachments/<uuid:attachment_id>/", chat.AttachmentDownloadApi.as_view(), name="chat-attachment"),
    path("chat/search/", chat.SearchApi.as_view(), name="chat-search"),
    path("chat/emoji/", chat.EmojiCatalogueApi.as_view(), name="chat-emoji"),
    path("sms/threads/", sms.ThreadListApi.as_view(), name="sms-threads"),
    path("sms/threads/<uuid:thread_id>/", sms.ThreadDetailApi.as_view(), name="sms-thread"),
    path("sms/threads/<uuid:thread_id>/messages/", sms.MessageListApi.as_view(), name="sms-messages"),
    path("sms/threads/<uuid:thread_id>/read/", sms.ReadApi.as_view(), name="sms-read"),
    path("sms/media/<uuid:media_id>/", sms.MediaApi.as_view(), name="sms-media"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
]
