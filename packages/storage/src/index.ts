export { FileStorage, type FileStorageOptions } from "./file-storage.ts";
export {
	DEFAULT_JOURNAL_RETENTION,
	type FoldOptions,
	type JournalRetention,
} from "./journal/fold-queue.ts";
export { DEFAULT_MEMORY_CHAT_MESSAGES, MemoryChatStorage } from "./memory-chat-storage.ts";
export { MemoryStorage } from "./memory-storage.ts";
export { roomFileName } from "./room-file-name.ts";
