/** File names are bytes; most file systems take at most 255. */
const MAX_FILE_NAME_BYTES = 240;

/**
 * The file name of a room's state. Room ids come from clients, so the id is percent-encoded
 * (with "." encoded too): the result has no path separator, no "..", no NUL byte and no
 * leading dot, whatever the id holds, and distinct ids never share a file.
 */
export function roomFileName(roomId: string, extension: string): string {
	if (roomId.length === 0) throw new Error("invalid room id: it is empty");
	let encoded: string;
	try {
		encoded = encodeURIComponent(roomId).replaceAll(".", "%2E").replaceAll("*", "%2A");
	} catch {
		throw new Error("invalid room id: it is not valid Unicode");
	}
	const name = `${encoded}${extension}`;
	if (name.length > MAX_FILE_NAME_BYTES) {
		throw new Error(`invalid room id: too long for a file name (${name.length} bytes encoded)`);
	}
	return name;
}
