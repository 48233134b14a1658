/** The demo's room type: the shapes of the board, no extra presence, cursor or chat fields. */
import type { RoomClient } from "@roomsync/client";
import type { Shape } from "./shapes.ts";

export type DemoRoom = RoomClient<{ component: Shape }>;
