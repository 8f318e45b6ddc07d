import { z } from "zod";
import { code, formatValue, keyText, typeText } from "./doc-format.js";

/**
 * Walks the config's zod schema into documentation sections: one row per key with its type, default and meaning.
 * The meaning is the key's zod description; doc-only metadata (`title`, `whenUnset`, `seeKey`) is described in
 * sections/fields.ts. A key without a description is an error, so a new key cannot go undocumented.
 */

export interface DocRow {
  key: string;
  type: string;
  default: string;
  meaning: string;
}

export interface DocSection {
  title: string;
  /** The key path the section documents (`models[].routing`), or "" for the top-level scalar keys. */
  path: string;
  description: string;
  /** 2 for a top-level key, 3 for an object documented under its own heading inside one. */
  level: 2 | 3;
  rows: DocRow[];
}

/** A row whose meaning ends in a link to another section, resolved once every section is known. */
export interface DocLink {
  row: DocRow;
  /** The key path of the section linked to. */
  path: string;
}

export interface DocModel {
  sections: DocSection[];
  links: DocLink[];
}

type Schema = z.core.$ZodType;

interface Meta {
  title?: string;
  description?: string;
  whenUnset?: string;
  seeKey?: string;
}

interface Field {
  inner: Schema;
  meta: Meta;
  optional: boolean;
  hasDefault: boolean;
  /** A prefault is an input parsed like any other, so an object's prefault says nothing its keys do not. */
  isPrefault: boolean;
  defaultValue: unknown;
}

const text = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);

/** Strips optional/default/prefault wrappers; metadata of outer wrappers wins over the inner schema's. */
function unwrap(schema: Schema): Field {
  const field: Field = {
    inner: schema,
    meta: {},
    optional: false,
    hasDefault: false,
    isPrefault: false,
    defaultValue: undefined,
  };
  let current: Schema = schema;
  for (;;) {
    const meta = z.globalRegistry.get(current);
    for (const key of ["title", "description", "whenUnset", "seeKey"] as const) {
      field.meta[key] ??= text(meta?.[key]);
    }
    if (current instanceof z.ZodOptional) {
      field.optional = true;
      current = current.unwrap();
    } else if (current instanceof z.ZodDefault || current instanceof z.ZodPrefault) {
      if (!field.hasDefault) {
        field.hasDefault = true;
        field.isPrefault = current instanceof z.ZodPrefault;
        field.defaultValue = current.def.defaultValue;
      }
      current = current.unwrap();
    } else break;
  }
  field.inner = current;
  return field;
}

export function walkConfigSchema(config: z.ZodObject): DocModel {
  const model: DocModel = { sections: [], links: [] };
  const missing: string[] = [];
  const general: DocSection = {
    title: "General",
    path: "",
    description: "Top-level keys.",
    level: 2,
    rows: [],
  };

  const describe = (path: string, field: Field): string => {
    if (field.meta.description === undefined) missing.push(path);
    return field.meta.description ?? "";
  };

  const addSection = (path: string, field: Field, level: 2 | 3): DocSection => {
    const section: DocSection = {
      title: field.meta.title ?? path,
      path,
      description: describe(path, field),
      level,
      rows: [],
    };
    model.sections.push(section);
    return section;
  };

  /** The rows of an object's keys go into `section`; titled objects inside it get their own section. */
  const walkObject = (section: DocSection, path: string, object: z.ZodObject): void => {
    for (const [key, child] of Object.entries(object.shape)) walkField(section, `${path}.${key}`, child);
  };

  /** An object documented under its own heading: a row here pointing to it, then its section. */
  const subsection = (section: DocSection, path: string, field: Field, object: z.ZodObject): void => {
    const row = { key: path, type: "object", default: defaultText(field), meaning: "" };
    section.rows.push(row);
    model.links.push({ row, path });
    walkObject(addSection(path, field, 3), path, object);
  };

  const walkField = (section: DocSection, path: string, schema: Schema): void => {
    const field = unwrap(schema);
    const inner = field.inner;
    if (field.meta.seeKey !== undefined) {
      const fallback = field.meta.whenUnset ?? defaultText(field);
      const row = { key: path, type: "object", default: fallback, meaning: describe(path, field) };
      section.rows.push(row);
      model.links.push({ row, path: field.meta.seeKey });
      return;
    }
    if (inner instanceof z.ZodObject) {
      if (field.meta.title !== undefined) {
        subsection(section, path, field, inner);
        return;
      }
      section.rows.push({
        key: path,
        type: "object",
        default: defaultText(field),
        meaning: describe(path, field),
      });
      walkObject(section, path, inner);
      return;
    }
    if (inner instanceof z.ZodArray || inner instanceof z.ZodRecord) {
      const element = unwrap(inner instanceof z.ZodArray ? inner.element : inner.valueType);
      const childPath = inner instanceof z.ZodArray ? `${path}[]` : `${path}.<name>`;
      const container = inner instanceof z.ZodArray ? "list of" : `map of ${keyText(inner.keyType)} to`;
      const isObject = element.inner instanceof z.ZodObject;
      const type = `${container} ${isObject ? "objects" : typeText(element.inner)}`;
      section.rows.push({ key: path, type, default: defaultText(field), meaning: describe(path, field) });
      if (element.inner instanceof z.ZodObject) walkObject(section, childPath, element.inner);
      return;
    }
    if (inner instanceof z.ZodDiscriminatedUnion) {
      const options = inner.options.map((option) => unwrap(option));
      const discriminator = inner.def.discriminator;
      const kinds = options.map((o) => typeText(shapeOf(o.inner)[discriminator] ?? o.inner));
      section.rows.push({
        key: path,
        type: `object, by \`${discriminator}\`: ${kinds.join(" or ")}`,
        default: defaultText(field),
        meaning: describe(path, field),
      });
      for (const option of options) {
        if (!(option.inner instanceof z.ZodObject)) throw new Error(`${path}: union options must be objects`);
        walkObject(addSection(path, option, 3), path, option.inner);
      }
      return;
    }
    section.rows.push({
      key: path,
      type: typeText(inner),
      default: defaultText(field),
      meaning: describe(path, field),
    });
  };

  for (const [key, schema] of Object.entries(config.shape)) {
    const field = unwrap(schema);
    const inner = field.inner;
    const element = inner instanceof z.ZodArray ? unwrap(inner.element).inner : undefined;
    if (inner instanceof z.ZodObject) {
      walkObject(addSection(key, field, 2), key, inner);
    } else if (element instanceof z.ZodObject) {
      walkObject(addSection(`${key}[]`, field, 2), `${key}[]`, element);
    } else {
      if (!model.sections.includes(general)) model.sections.push(general);
      walkField(general, key, schema);
    }
  }
  if (missing.length > 0) throw new Error(`config keys without a description: ${missing.join(", ")}`);
  return model;
}

function shapeOf(schema: Schema): Record<string, Schema> {
  return schema instanceof z.ZodObject ? schema.shape : {};
}

/** The default column: a static default, what an unset optional key means, or "required". */
function defaultText(field: Field): string {
  if (field.hasDefault) {
    const value = field.defaultValue;
    // An object whose default is what its keys' defaults make anyway: the keys' rows say it.
    if (field.inner instanceof z.ZodObject) {
      if (field.isPrefault) return "";
      const parsed = field.inner.safeParse({});
      if (parsed.success && JSON.stringify(parsed.data) === JSON.stringify(value)) return "";
    }
    return code(formatValue(value));
  }
  if (field.optional) return field.meta.whenUnset ?? "unset";
  return "required";
}
