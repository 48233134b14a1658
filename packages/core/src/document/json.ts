/** Any value JSON can carry. Component fields hold these, and the server never looks inside them. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;

export interface JsonObject {
	[key: string]: JsonValue;
}
