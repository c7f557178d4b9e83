import type { SetDef } from './model.ts';

/**
 * $metadata in the shape of a real УТ 11 publication (EDMX 1.0, OData 3.0, namespace
 * StandardODATA): an EntityType per set, a `<Set>_<Section>_RowType` ComplexType per tabular
 * section, virtual-table result ComplexTypes, an EntityContainer, and the bound
 * FunctionImports (SliceLast, Balance, Post, Unpost) with a bindingParameter.
 * Navigation properties and associations are left out.
 */
export function buildMetadata(sets: readonly SetDef[], extraCatalogs = 0): string {
  const out: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<edmx:Edmx xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx" Version="1.0">',
    '<edmx:DataServices xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata" m:DataServiceVersion="3.0" m:MaxDataServiceVersion="3.0">',
    '<Schema xmlns="http://schemas.microsoft.com/ado/2009/11/edm" Namespace="StandardODATA">',
  ];
  const property = (name: string, type: string, nullable: boolean) =>
    `<Property Name="${name}" Type="${type}" Nullable="${nullable}"/>`;
  for (const set of sets) {
    const tag = set.kind === 'virtual' ? 'ComplexType' : 'EntityType';
    out.push(`<${tag} Name="${set.name}"${set.kind === 'virtual' ? '' : ' OpenType="true"'}>`);
    if (set.kind !== 'virtual')
      out.push(`<Key>${set.key.map((k) => `<PropertyRef Name="${k}"/>`).join('')}</Key>`);
    for (const field of set.fields) out.push(property(field.name, field.type, !set.key.includes(field.name)));
    for (const section of Object.keys(set.tabular ?? {})) {
      out.push(property(section, `Collection(StandardODATA.${set.name}_${section}_RowType)`, true));
    }
    out.push(`</${tag}>`);
    for (const [section, fields] of Object.entries(set.tabular ?? {})) {
      out.push(`<ComplexType Name="${set.name}_${section}_RowType">`);
      for (const field of fields) out.push(property(field.name, field.type, true));
      out.push('</ComplexType>');
    }
  }
  for (let n = 1; n <= extraCatalogs; n++) out.push(...extraCatalogType(n, property));
  out.push('<EntityContainer Name="StandardODATA" m:IsDefaultEntityContainer="true">');
  for (const set of sets) {
    if (set.kind === 'virtual') continue;
    out.push(`<EntitySet Name="${set.name}" EntityType="StandardODATA.${set.name}"/>`);
  }
  for (let n = 1; n <= extraCatalogs; n++) {
    out.push(`<EntitySet Name="${extraCatalogName(n)}" EntityType="StandardODATA.${extraCatalogName(n)}"/>`);
  }
  for (const set of sets) {
    for (const [fn, returns] of Object.entries(set.functions ?? {})) {
      const action = fn === 'Post' || fn === 'Unpost';
      out.push(
        `<FunctionImport Name="${fn}" IsBindable="true" IsSideEffecting="${action}"${action ? '' : ` ReturnType="Collection(StandardODATA.${returns})"`}>`,
      );
      out.push(`<Parameter Name="bindingParameter" Type="StandardODATA.${set.name}"/>`);
      if (action) out.push('<Parameter Name="PostingModeOperational" Type="Edm.Boolean"/>');
      else {
        out.push('<Parameter Name="Condition" Type="Edm.String"/>');
        if (fn === 'Balance') out.push('<Parameter Name="Dimensions" Type="Edm.String"/>');
        out.push('<Parameter Name="Period" Type="Edm.DateTime"/>');
      }
      out.push('</FunctionImport>');
    }
  }
  out.push('</EntityContainer>', '</Schema>', '</edmx:DataServices>', '</edmx:Edmx>');
  return out.join('\n');
}

/** Name of the n-th catalog that exists only in $metadata (see extraCatalogs). */
export const extraCatalogName = (n: number) => `Catalog_Справочник${String(n).padStart(4, '0')}`;

const EXTRA_TYPES = ['Edm.String', 'Edm.Boolean', 'Edm.Double', 'Edm.DateTime', 'Edm.Guid', 'Edm.Int64'];

/**
 * A catalog described in $metadata only, shaped like the thousands a real configuration
 * publishes (УТ 11: ~4,000 types, 15 MB): the standard head, 24 attributes and a tabular
 * section. It gives $metadata its real size; the emulator holds no data for it.
 */
function extraCatalogType(
  n: number,
  property: (name: string, type: string, nullable: boolean) => string,
): string[] {
  const name = extraCatalogName(n);
  const head = [
    property('Ref_Key', 'Edm.Guid', false),
    property('DataVersion', 'Edm.String', true),
    property('DeletionMark', 'Edm.Boolean', true),
    property('Code', 'Edm.String', true),
    property('Description', 'Edm.String', true),
    property('Predefined', 'Edm.Boolean', true),
    property('PredefinedDataName', 'Edm.String', true),
  ];
  const attributes = Array.from({ length: 24 }, (_, i) =>
    property(`Реквизит${i + 1}${i % 6 === 4 ? '_Key' : ''}`, EXTRA_TYPES[i % 6]!, true),
  );
  const rows = Array.from({ length: 8 }, (_, i) =>
    property(i === 0 ? 'LineNumber' : `Колонка${i}`, i === 0 ? 'Edm.Int64' : EXTRA_TYPES[i % 6]!, true),
  );
  return [
    `<EntityType Name="${name}" OpenType="true">`,
    '<Key><PropertyRef Name="Ref_Key"/></Key>',
    ...head,
    ...attributes,
    property('Состав', `Collection(StandardODATA.${name}_Состав_RowType)`, true),
    '</EntityType>',
    `<ComplexType Name="${name}_Состав_RowType">`,
    ...rows,
    '</ComplexType>',
  ];
}
