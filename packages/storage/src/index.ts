export { FileStorage, type FileStorageOptions } from "./file-storage.ts";
export { MemoryStorage } from "./memory-storage.ts";
export { roomFileName } from "./room-file-name.ts";
